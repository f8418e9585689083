"""k3trio.controllers"""
