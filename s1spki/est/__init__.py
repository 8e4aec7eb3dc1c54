"""Front door for S1SP components: enrolment over EST (RFC 7030). Not built yet."""
