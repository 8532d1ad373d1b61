# Backend image. The stand-in stack builds it on top of the same busybox image as the rest.
ARG TBX_IMAGE=busybox:1.36
FROM ${TBX_IMAGE}
COPY apps/backend /app
WORKDIR /app
CMD ["httpd", "-f", "-p", "8009", "-h", "/app"]
