# Shortcuts for scripts/workbench.sh, which does the work and needs no make.
# Extra options go in ARGS:  make test ARGS="-m 'not browser' -x"
.PHONY: lab test setup clean distclean help

ARGS ?=

help:
	@bash scripts/workbench.sh help

lab:
	bash scripts/workbench.sh lab $(ARGS)

test:
	bash scripts/workbench.sh test $(ARGS)

setup:
	bash scripts/workbench.sh setup

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv
