using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LlamaBoard.Web.Security;

/// <summary>
/// Bounds on what a client may send. The board takes no uploads: its forms are a login and a culture switch, and
/// everything else travels over the Blazor circuit, whose SignalR messages ASP.NET Core already caps at 32 KB. So
/// request bodies are cut at <see cref="BoardBodyBytes"/>, Kestrel's own default being 30 MB. The OpenAI-compatible
/// API takes whole conversations and allows <see cref="ApiBodyBytes"/>, several times a 128k-token context as text.
/// </summary>
public static class RequestLimits
{
    /// <summary>Largest request body the board accepts (bytes).</summary>
    public const long BoardBodyBytes = 1 << 20;

    /// <summary>Largest request body the API accepts (bytes).</summary>
    public const long ApiBodyBytes = 8 << 20;

    /// <summary>Sets Kestrel's and the form reader's limits for the board.</summary>
    public static IHostApplicationBuilder AddRequestLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<KestrelServerOptions>(options => options.Limits.MaxRequestBodySize = BoardBodyBytes);
        builder.Services.Configure<FormOptions>(options =>
        {
            options.MultipartBodyLengthLimit = BoardBodyBytes;
            options.ValueLengthLimit = (int)BoardBodyBytes;
        });
        return builder;
    }

    /// <summary>
    /// Answers 413 before reading a body whose declared length is over <paramref name="limit"/>, and sets the server's
    /// limit for bodies sent without a length (chunked), which the server then stops reading at the limit.
    /// </summary>
    public static IApplicationBuilder UseBodyLimit(this IApplicationBuilder app, long limit) => app.Use(async (context, next) =>
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
            feature.MaxRequestBodySize = limit;
        if (context.Request.ContentLength > limit)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await context.Response.WriteAsync(
                FormattableString.Invariant($"The request body is {context.Request.ContentLength} bytes; at most {limit} are accepted here."));
            return;
        }
        await next(context);
    });
}
