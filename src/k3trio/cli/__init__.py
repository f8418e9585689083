"""k3trio.cli"""
