"""Answer key for the rope-scaling course.

* :mod:`solutions.derivation` -- the sympy derivation of ``lam = (m/m_l)**(d/(d-2))``.
* :mod:`solutions.rope` -- numpy reference kernels: frequencies, ``apply_rope`` (interleaved and
  half layouts), position interpolation and NTK-aware base scaling.
"""
