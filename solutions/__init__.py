"""Answer key for the rope-scaling course.

* :mod:`solutions.derivation` -- the sympy derivation of ``lam = (m/m_l)**(d/(d-2))``.
* :mod:`solutions.rope` -- numpy reference kernels: frequencies, angles and ``apply_rope``
  (interleaved and half layouts), self-contained (its source is what the timing box runs).
* :mod:`solutions.scaling` -- periods, position interpolation and NTK-aware base scaling.
* :mod:`solutions.verification` -- numeric cross-checks of the derivation.
"""
