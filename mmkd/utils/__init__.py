from .checkpoint import (load_file, load_weights_strict, make_weights_only_clean,
                         register_safe_loader, student_state)

__all__ = ['load_file', 'load_weights_strict', 'make_weights_only_clean',
           'register_safe_loader', 'student_state']
