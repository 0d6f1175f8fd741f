using System.Net;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Web.Security;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace LlamaBoard.Web.Api;

/// <summary>
/// A web host serving only the OpenAI-compatible API (what <c>llamaboard api</c> runs): Kestrel on
/// API_HOST:API_PORT (127.0.0.1:8000 unless set), refusing to listen beyond loopback without an API key.
/// </summary>
public static class ApiServer
{
    /// <summary>The default address: loopback, LLaMA-Factory's port.</summary>
    public const string DefaultHost = "127.0.0.1";
    /// <summary>LLaMA-Factory's API_PORT default.</summary>
    public const int DefaultPort = 8000;

    /// <summary>True when <paramref name="host"/> is a loopback address or localhost.</summary>
    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    /// <summary>Builds the host; port 0 picks a free port (read it from the started app's URLs).</summary>
    /// <exception cref="InvalidOperationException">A non-loopback host without an API key.</exception>
    public static WebApplication Build(ChatEngine engine, string host, int port, OpenAiApiOptions options)
    {
        if (!IsLoopback(host) && options.ApiKey is null)
            throw new InvalidOperationException(
                $"Refusing to serve the API on {host}, beyond this machine, without an API key: set API_KEY (clients then send " +
                "'Authorization: Bearer <key>'), or listen on 127.0.0.1.");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(ApiServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        string bracketed = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        builder.WebHost.UseUrls($"http://{bracketed}:{port}");
        builder.Services.AddSingleton(new FailedAttempts(TimeProvider.System));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = RequestLimits.ApiBodyBytes);
        var app = builder.Build();
        app.UseBodyLimit(RequestLimits.ApiBodyBytes);
        app.UseExceptionHandler(errors => errors.Run(http =>
        {
            var failure = http.Features.Get<IExceptionHandlerFeature>()?.Error;
            return OpenAiApi.WriteServerError(http, failure ?? new InvalidOperationException("unknown error"));
        }));
        app.MapOpenAiApi(engine, options);
        return app;
    }

    /// <summary>The address a started server listens on (the real port when it was started with port 0), ending in '/'.</summary>
    public static Uri Address(WebApplication app)
    {
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.EndsWith('/') ? address : address + "/");
    }
}
