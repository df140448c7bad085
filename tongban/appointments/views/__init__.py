"""Pages of the hall as a service, one module per part (see services/). Thin: parse, call
the same service or selector as the API, render."""
