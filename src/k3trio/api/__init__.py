"""k3trio.api"""
