"""BookImg: photograph a bookshelf, get back the books. `pulumi up` deploys the pipeline."""

from infra.program import run_program

run_program()
