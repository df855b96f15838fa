//! Unit tests of the task system against a toy scheduler that only queues.
