"""The kubelet's streaming work: container logs, exec, attach and port-forward.

- ``logs``: CRI log files (``<RFC3339Nano> <stream> <P|F> <content>``) read with the
  options of ``PodLogOptions`` (follow, tail, since, timestamps, limitBytes). Pure parsing
  apart from the file reading loop.
- ``logstatus``: which container instance a log request means (upstream's
  ``validateContainerLogStatus``), pure.
- ``upgrade``: HTTP/1.1 upgrade plumbing shared with the API server's proxy (request heads,
  response heads, splicing two byte streams).
- ``websocket``: the ``channel.k8s.io`` family of WebSocket stream protocols (v1-v5) and the
  ``SPDY/3.1+portforward.k8s.io`` tunnel, terminated by the kubelet.
- ``spdy``: a small SPDY/3.1 client, for talking to containerd's streaming server.
"""
