"""Export-time accelerator tooling: ahead-of-time compilation for NPUs (QNN HTP), placement from the compiled
graph, and the x86 HTP simulator with its cycle profile. Run time lives in fsplit_mobile.runtime (qnn,
accelerated, placement); this package runs on the exporting host only."""
