"""Console entry points. Thin: each tool's options and logic live in its own package."""


def export_main():
    from .export.cli import main

    main()


def bench_main():
    from .bench.cli import main

    main()


def serve_main():
    from .serve.cli import main

    main()


def demo_main():
    from .demo import main

    main()
