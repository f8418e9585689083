"""The one Kubernetes API client used by every k3trio component and by ``k3trio kubectl``.

Modules (each with one job):

- ``config``: ``ClientConfig`` from a kubeconfig, the pod environment or PEM material;
- ``transport``: the pooled ``httpx.AsyncClient`` (HTTP/2, keep-alive, timeouts, user agent);
  httpx is imported only in this package (``transport``, ``api``, ``streaming``, ``errors``);
- ``errors``: the typed error tree, HTTP status -> exception in one place;
- ``resource``: ``Resource`` handles and URL paths; ``discovery``: cached API discovery;
- ``api``: ``Client`` with get/list/create/update/patch/apply/delete/watch; ``params``: the
  query parameters and bodies it sends; ``streaming``: watch and raw streaming bodies;
- ``watchstream``: sans-IO decoding of watch streams into ``WatchEvent`` values;
- ``cache``/``informer``: indexers, listers and shared informers (list + watch, relist on 410);
- ``ratelimit``/``workqueue``: client-go style rate limiters and the controller work queue;
- ``leaderelection``: Lease-based leader election and ``run_when_leader``;
- ``events``: ``EventRecorder`` with spam filtering, aggregation and de-duplication.
"""

from .api import Client
from .params import PatchType
from .streaming import WatchStream
from .cache import (
    NAMESPACE_INDEX,
    NODE_NAME_INDEX,
    OWNER_UID_INDEX,
    DeletedFinalStateUnknown,
    Indexer,
    Lister,
    index_by_namespace,
    index_by_node_name,
    index_by_owner_uid,
    object_key,
    split_key,
)
from .config import ClientConfig, ConfigError
from .discovery import Discovery, ResourceNotFound
from .errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    ConnectionFailed,
    ConnectionLost,
    DecodeError,
    Expired,
    Forbidden,
    GoAway,
    Gone,
    InternalError,
    Invalid,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    RequestEntityTooLarge,
    RequestTimedOut,
    ServerError,
    ServiceUnavailable,
    Timeout,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from .events import EventCorrelator, EventRecorder, object_reference
from .informer import ListWatch, ResourceListWatch, SharedInformer, SharedInformerFactory, drop_managed_fields
from .leaderelection import (
    ApiLeaseLock,
    LeaderElectionConfig,
    LeaderElectionRecord,
    LeaderElector,
    LeaseLock,
    run_when_leader,
)
from .ratelimit import (
    BucketLimiter,
    ItemExponentialLimiter,
    MaxOfLimiter,
    RateLimiter,
    TokenBucket,
    default_controller_rate_limiter,
)
from .resource import (
    CONFIGMAPS,
    EVENTS,
    LEASES,
    NAMESPACES,
    NODES,
    PODS,
    SECRETS,
    SERVICES,
    Resource,
    ResourceLike,
)
from .watchstream import WatchDecoder, WatchEvent
from .workqueue import RateLimitingQueue, ShutDown, run_workers

__all__ = [
    "CONFIGMAPS",
    "EVENTS",
    "LEASES",
    "NAMESPACES",
    "NAMESPACE_INDEX",
    "NODES",
    "NODE_NAME_INDEX",
    "OWNER_UID_INDEX",
    "PODS",
    "SECRETS",
    "SERVICES",
    "AlreadyExists",
    "ApiError",
    "ApiLeaseLock",
    "BadRequest",
    "BucketLimiter",
    "Client",
    "ClientConfig",
    "ClientError",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "ConnectionLost",
    "DecodeError",
    "DeletedFinalStateUnknown",
    "Discovery",
    "EventCorrelator",
    "EventRecorder",
    "Expired",
    "Forbidden",
    "GoAway",
    "Gone",
    "Indexer",
    "InternalError",
    "Invalid",
    "ItemExponentialLimiter",
    "LeaderElectionConfig",
    "LeaderElectionRecord",
    "LeaderElector",
    "LeaseLock",
    "ListWatch",
    "Lister",
    "MaxOfLimiter",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "PatchType",
    "RateLimiter",
    "RateLimitingQueue",
    "RequestEntityTooLarge",
    "RequestTimedOut",
    "Resource",
    "ResourceLike",
    "ResourceListWatch",
    "ResourceNotFound",
    "ServerError",
    "ServiceUnavailable",
    "SharedInformer",
    "SharedInformerFactory",
    "drop_managed_fields",
    "ShutDown",
    "Timeout",
    "TokenBucket",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "WatchDecoder",
    "WatchEvent",
    "WatchStream",
    "default_controller_rate_limiter",
    "index_by_namespace",
    "index_by_node_name",
    "index_by_owner_uid",
    "object_key",
    "object_reference",
    "run_when_leader",
    "run_workers",
    "split_key",
]
