# Shared build rule for every function folder (`sam build`, Metadata BuildMethod: makefile).
# A function artifact is its own modules only: dependencies and the domain core come from the
# shared layer, so nothing here needs Docker. The modules are compiled to bytecode by a CPython
# 3.13 interpreter, as the layer is (layers/shared/Makefile says why).
ifndef PYTHON313
PYTHON313 := $(shell sh "$(dir $(lastword $(MAKEFILE_LIST)))../tools/find_python313.sh")
endif

build-%:
	$(if $(PYTHON313),,$(error CPython 3.13 not found (needed to compile the function's bytecode): put python3.13 on PATH, install it with pyenv, or set PYTHON313))
	cp *.py "$(ARTIFACTS_DIR)/"
	$(PYTHON313) -m compileall -q --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"
