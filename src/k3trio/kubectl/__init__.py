"""k3trio.kubectl"""
