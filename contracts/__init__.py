"""The shared contracts of the promotion pipeline, beneath every stage.

Versioned JSON documents and the one reader and one atomic writer for them
(:mod:`contracts.documents`), provenance and the chain of custody
(:mod:`contracts.provenance`), the one-run-at-a-time lock (:mod:`contracts.lock`),
errors (:mod:`contracts.errors`) and exit codes (:mod:`contracts.exitcodes`).

Every stage (``benchmarks``, ``analysis``, ``gates``, ``pipeline``) imports this
package; it imports none of them (``tests/test_import_direction.py``).
"""
