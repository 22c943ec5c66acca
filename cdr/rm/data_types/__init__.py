"""RM data_types package: the values an ELEMENT can hold, one module per spec sub-package."""
