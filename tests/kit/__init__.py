"""The shared test world: what every app's tests build on.

- `factories`: factory_boy factories for every model and `staff_user(...)`, a user with a role.
- `world`: the small alliance every test starts from (`World`, built by the `world` fixture).
- `waiting`: `wait_for(condition)` and `worker_drained(queue)` for tests with a real worker.
- `stateful`: the base of the Hypothesis state machines that drive a workflow at random.
- `delivery`, `documents`: run a side effect twice and count its effects; read a PDF answer.

Query counts are pinned with pytest-django's `django_assert_num_queries` fixture.
"""
