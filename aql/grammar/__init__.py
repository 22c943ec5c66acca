"""The AQL grammar (AqlLexer.g4, AqlParser.g4) and the script that regenerates aql/_generated from it."""
