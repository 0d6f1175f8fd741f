using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Web.Security;

namespace LlamaBoard.Web.Api;

/// <summary>Settings of the OpenAI-compatible API (LLaMA-Factory's environment variables).</summary>
public sealed record OpenAiApiOptions
{
    /// <summary>API_KEY: when set, every request needs <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public string? ApiKey { get; init; }
    /// <summary>API_MODEL_NAME: one more name that selects the engine's default model (for clients with a fixed model name).</summary>
    public string? ModelAlias { get; init; }

    /// <summary>The settings from API_KEY and API_MODEL_NAME.</summary>
    public static OpenAiApiOptions FromEnvironment() => new()
    {
        ApiKey = Environment.GetEnvironmentVariable("API_KEY") is { Length: > 0 } key ? key : null,
        ModelAlias = Environment.GetEnvironmentVariable("API_MODEL_NAME") is { Length: > 0 } alias ? alias : null,
    };
}

/// <summary>
/// The OpenAI-compatible endpoints over a <see cref="ChatEngine"/>: <c>GET /v1/models</c> (the base model and every
/// served adapter) and <c>POST /v1/chat/completions</c> (plain or server-sent events), the adapter chosen by the
/// <c>model</c> field. Hosted by <c>llamaboard api</c> (<see cref="ApiServer"/>); the board can map them too.
/// </summary>
public static class OpenAiApi
{
    static readonly JsonWriterOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Maps the endpoints onto <paramref name="endpoints"/>.</summary>
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder endpoints, ChatEngine engine, OpenAiApiOptions options)
    {
        endpoints.MapGet("/v1/models", (HttpContext http) => Handle(http, options, () => ListModels(http, engine, options)));
        endpoints.MapPost("/v1/chat/completions", (HttpContext http) => Handle(http, options, () => Complete(http, engine, options)));
        return endpoints;
    }

    /// <summary>Checks the key, runs the endpoint, and turns refusals into OpenAI-shaped errors.</summary>
    static async Task Handle(HttpContext http, OpenAiApiOptions options, Func<Task> endpoint)
    {
        try
        {
            if (options.ApiKey is { } key)
            {
                // Wrong keys are rate-limited per client address when the host registers FailedAttempts (ApiServer does).
                var failures = http.RequestServices.GetService<FailedAttempts>();
                var client = FailedAttempts.AddressOf(http);
                if (failures is not null && failures.IsLocked(client, out var retryAfter))
                {
                    http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    throw new OpenAiError(429, "Too many requests with a wrong API key from this address; try again later.", code: "rate_limit_exceeded");
                }
                if (!Authorized(http, key))
                {
                    failures?.Fail(client);
                    throw new OpenAiError(401, "Incorrect API key provided. Send it as 'Authorization: Bearer <API_KEY>'.", code: "invalid_api_key");
                }
                failures?.Succeed(client);
            }
            await endpoint().ConfigureAwait(false);
        }
        catch (OpenAiError error) when (!http.Response.HasStarted)
        {
            await WriteError(http, error).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
    }

    static bool Authorized(HttpContext http, string key)
    {
        string header = http.Request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase)) return false;
        // Digests have equal lengths, so the comparison's time does not reveal the key's length either.
        byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(header[Bearer.Length..].Trim()));
        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    static Task ListModels(HttpContext http, ChatEngine engine, OpenAiApiOptions options)
    {
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var names = engine.ModelNames.ToList();
        if (options.ModelAlias is { } alias && !names.Contains(alias)) names.Add(alias);
        return WriteJson(http, 200, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            foreach (string name in names)
            {
                w.WriteStartObject();
                w.WriteString("id", name);
                w.WriteString("object", "model");
                w.WriteNumber("created", created);
                w.WriteString("owned_by", "owner");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    static async Task Complete(HttpContext http, ChatEngine engine, OpenAiApiOptions options)
    {
        JsonNode? body;
        try
        {
            // Read whole (the server caps the size) and check the text first: System.Text.Json decodes strings and
            // builds objects lazily, so invalid UTF-8 or a duplicated key would otherwise fail later as a 500.
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted).ConfigureAwait(false);
            if (Engine.Runtime.Utf8Text.Problem(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)) is { } notUtf8)
                throw OpenAiError.BadRequest($"The request body is not usable: {notUtf8}.");
            body = JsonNode.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length).Span,
                                  documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw OpenAiError.BadRequest($"The request body is not valid JSON: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new OpenAiError(413, $"The request body is larger than the {RequestLimits.ApiBodyBytes} bytes this server accepts.");
        }
        var request = OpenAiRequest.Parse(body);
        string requested = request.Chat.Model!;
        var chat = request.Chat with { Model = requested == options.ModelAlias ? engine.DefaultModel : requested };
        if (!engine.ModelNames.Contains(chat.Model!))
            throw new OpenAiError(404, $"The model '{requested}' does not exist; this server has: {string.Join(", ", engine.ModelNames)}.",
                                  param: "model", code: "model_not_found");
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        try
        {
            if (request.Stream) await Stream(http, engine, chat, request.IncludeUsage, id, created, requested).ConfigureAwait(false);
            else await Reply(http, await engine.ChatAsync(chat, http.RequestAborted).ConfigureAwait(false), id, created, requested).ConfigureAwait(false);
        }
        catch (ChatRequestException e)
        {
            throw OpenAiError.BadRequest(e.Message, e.Parameter);
        }
    }

    static Task Reply(HttpContext http, ChatResponse reply, string id, long created, string model) => WriteJson(http, 200, w =>
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        if (reply.ToolCalls.Count > 0) w.WriteNull("content"); else w.WriteString("content", reply.Text);
        if (reply.Thought is { Length: > 0 } thought) w.WriteString("reasoning_content", thought);
        if (reply.ToolCalls.Count > 0) WriteToolCalls(w, reply.ToolCalls, withIndex: false);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", Finish(reply.FinishReason));
        w.WriteEndObject();
        w.WriteEndArray();
        WriteUsage(w, reply);
        w.WriteEndObject();
    });

    /// <summary>Server-sent events: chat.completion.chunk objects, then <c>data: [DONE]</c>.</summary>
    static async Task Stream(HttpContext http, ChatEngine engine, Engine.Inference.ChatRequest chat, bool includeUsage, string id, long created, string model)
    {
        var chunks = engine.StreamAsync(chat, http.RequestAborted).GetAsyncEnumerator(http.RequestAborted);
        try
        {
            // The first MoveNext runs the request's checks, so a bad request still gets a plain JSON error.
            bool more = await chunks.MoveNextAsync().ConfigureAwait(false);
            http.Response.StatusCode = 200;
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            await Event(http, w => Chunk(w, id, created, model, delta => { delta.WriteString("role", "assistant"); delta.WriteString("content", ""); }, null)).ConfigureAwait(false);
            while (more)
            {
                var chunk = chunks.Current;
                if (chunk.Final is { } final)
                {
                    if (final.ToolCalls.Count > 0)
                        await Event(http, w => Chunk(w, id, created, model, delta => WriteToolCalls(delta, final.ToolCalls, withIndex: true), null)).ConfigureAwait(false);
                    await Event(http, w => Chunk(w, id, created, model, _ => { }, Finish(final.FinishReason))).ConfigureAwait(false);
                    if (includeUsage)
                        await Event(http, w =>
                        {
                            w.WriteStartObject();
                            Header(w, id, created, model);
                            w.WriteStartArray("choices");
                            w.WriteEndArray();
                            WriteUsage(w, final);
                            w.WriteEndObject();
                        }).ConfigureAwait(false);
                }
                else if (chunk.Text.Length > 0)
                {
                    string field = chunk.Part == ReplyPart.Thought ? "reasoning_content" : "content";
                    await Event(http, w => Chunk(w, id, created, model, delta => delta.WriteString(field, chunk.Text), null)).ConfigureAwait(false);
                }
                more = await chunks.MoveNextAsync().ConfigureAwait(false);
            }
            await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            await chunks.DisposeAsync().ConfigureAwait(false);
        }
    }

    static void Header(Utf8JsonWriter w, string id, long created, string model)
    {
        w.WriteString("id", id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }

    static void Chunk(Utf8JsonWriter w, string id, long created, string model, Action<Utf8JsonWriter> delta, string? finish)
    {
        w.WriteStartObject();
        Header(w, id, created, model);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        delta(w);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (finish is null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    static void WriteToolCalls(Utf8JsonWriter w, IReadOnlyList<ToolCall> calls, bool withIndex)
    {
        w.WriteStartArray("tool_calls");
        for (int i = 0; i < calls.Count; i++)
        {
            w.WriteStartObject();
            if (withIndex) w.WriteNumber("index", i);
            w.WriteString("id", "call_" + Guid.NewGuid().ToString("N"));
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", calls[i].Name);
            w.WriteString("arguments", calls[i].Arguments);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    static void WriteUsage(Utf8JsonWriter w, ChatResponse reply)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", reply.PromptTokens);
        w.WriteNumber("completion_tokens", reply.CompletionTokens);
        w.WriteNumber("total_tokens", reply.PromptTokens + reply.CompletionTokens);
        w.WriteEndObject();
    }

    static string Finish(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };

    static async Task Event(HttpContext http, Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        buffer.Write("data: "u8);
        using (var writer = new Utf8JsonWriter(buffer, Compact)) write(writer);
        buffer.Write("\n\n"u8);
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    static async Task WriteJson(HttpContext http, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Compact)) write(writer);
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
    }

    static Task WriteError(HttpContext http, OpenAiError error)
    {
        if (error.Status == 401) http.Response.Headers.WWWAuthenticate = "Bearer";
        return WriteJson(http, error.Status, error.WriteTo);
    }

    /// <summary>Any other failure: a 500 in OpenAI's shape, without internals beyond the message.</summary>
    internal static Task WriteServerError(HttpContext http, Exception e) =>
        WriteError(http, new OpenAiError(500, $"The server failed to answer: {e.Message}", "server_error"));
}
