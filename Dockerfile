# LlamaBoard board image (CPU by default).
#   docker compose up board           -> http://localhost:7860
# GPU: build with --build-arg BACKEND=cuda (see docker-compose.yml).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG BACKEND=cpu
WORKDIR /src
COPY . .
RUN dotnet publish LlamaBoard.Web/LlamaBoard.Web.csproj -c Release -o /app/web -p:LlamaBoardBackend=${BACKEND} \
 && dotnet publish LlamaBoard.Cli/LlamaBoard.Cli.csproj -c Release -o /app/cli -p:LlamaBoardBackend=${BACKEND}

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app /app
# The workspace (SQLite history, run folders) lives on a volume.
ENV LLAMABOARD_WORKSPACE=/workspace \
    ASPNETCORE_URLS=http://0.0.0.0:7860 \
    PATH="/app/cli:${PATH}"
VOLUME ["/workspace"]
EXPOSE 7860
WORKDIR /app/web
ENTRYPOINT ["dotnet", "LlamaBoard.Web.dll"]
