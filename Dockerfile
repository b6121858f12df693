# The operator image. Build: docker build -t watchkeeper:dev .
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-cache-dir . && rm -rf /root/.cache
USER 65532:65532
ENTRYPOINT ["watchkeeper"]
CMD ["run", "--all-namespaces"]
