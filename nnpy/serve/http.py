"""Old path, kept so existing imports work; the code lives in nnpy.localweb."""
from ..localweb import (LINGER_BYTES, LINGER_WAIT, LOCAL_HOSTS, TIMEOUT, JSONHandler, LocalServer,
                        ServeError, listen, url_of)

__all__ = ["JSONHandler", "LINGER_BYTES", "LINGER_WAIT", "LOCAL_HOSTS", "LocalServer",
           "ServeError", "TIMEOUT", "listen", "url_of"]
