"""Open Contracting Data Standard 1.1: releases, records and packages for published tenders."""
