"""EscalaFin CrossGuard policy pack: pure, unit-tested checks + the pack in __main__."""
