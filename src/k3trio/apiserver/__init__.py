"""k3trio.apiserver"""
