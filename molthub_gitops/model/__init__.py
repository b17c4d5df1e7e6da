"""Pure models of the molthub/v1 documents and the YAML source they are read from."""
