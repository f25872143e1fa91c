# Shared build rule for every function folder (`sam build`, Metadata BuildMethod: makefile).
# A function artifact is its own modules only: dependencies and the domain core come from the
# shared layer, so nothing here needs Docker or a python3.13 interpreter.
build-%:
	cp *.py "$(ARTIFACTS_DIR)/"
