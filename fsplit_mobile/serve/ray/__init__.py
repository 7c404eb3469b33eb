"""`fsplit-serve --engine ray`: the same server part (engine.py + app.py) as a Ray Serve application, for users
who scale past one host on a Ray cluster they already run. options.py maps fsplit-serve's limits onto Ray's,
deployment.py is the replica, run.py starts it on a cluster (docs/serve.md, "Ray Serve")."""
