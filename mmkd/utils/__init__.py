from .checkpoint import load_file, load_weights_strict, make_weights_only_clean, student_state

__all__ = ['load_file', 'load_weights_strict', 'make_weights_only_clean', 'student_state']
