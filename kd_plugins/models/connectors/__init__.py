"""(filled by the method issues)"""
