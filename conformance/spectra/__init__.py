"""Spectra S3 (BlackPearl) job-completed notification registrations: signer, naming, documents (NOTES §2)."""
