"""k3trio.client"""
