"""k3trio.scheduler"""
