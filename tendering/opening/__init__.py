"""The online bid opening: closing at the deadline, custodians' share release, opening the envelopes,
each envelope's outcome, the opening record and the opening hall (Measures Art. 29-32, Regs Art. 44)."""
