# syntax=docker/dockerfile:1
# live-state-api container image: a build stage compiles the TypeScript, the runtime stage
# holds only production dependencies and the compiled JavaScript.
#
#   docker build -t live-state-api:0.1.0 .
#
# Pin the base image by digest in your registry mirror if you need reproducible builds:
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:<digest> .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so editing src/ does not re-run the install.
# No dependency needs an install script; --ignore-scripts keeps any from running.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc -p tsconfig.build.json: rootDir "." and outDir "dist" give dist/src/server.js.
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# The npm cache is a BuildKit cache mount: it never lands in the image, nothing to clean.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts
COPY --from=build /app/dist ./dist
# The base image's "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
# Everything under /app stays owned by root: the process only reads it, so the image runs
# with a read-only root filesystem (no cache, no temp files, logs go to stdout).
USER 1000:1000
EXPOSE 8000
# Node itself is PID 1 (not npm, not a shell): SIGTERM reaches it and close-with-grace
# shuts down within SHUTDOWN_TIMEOUT_MS. It starts no child processes, so no init is needed.
# No HEALTHCHECK: Kubernetes ignores it; the chart's probes use /live and /ready.
CMD ["node", "dist/src/server.js"]
