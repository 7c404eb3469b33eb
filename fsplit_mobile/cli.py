"""Console entry points. Thin: each tool's options and logic live in its own package."""


def export_main():
    from .export.cli import main

    main()


def bench_main():
    from .bench.cli import main
    from .e2e.study import e2e_command

    # fsplit-bench e2e (split vs offloading): e2e uses bench, so the command is added here, above both
    main.add_command(e2e_command)
    main()


def serve_main():
    from .serve.cli import main

    main()


def demo_main():
    from .demo import main

    main()
