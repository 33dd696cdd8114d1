from . import mirakl_backend_cockpit
