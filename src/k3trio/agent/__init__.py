"""k3trio.agent"""
