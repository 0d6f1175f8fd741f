using System.Text.Json;

namespace LlamaBoard.Web.Api;

/// <summary>A request the API refuses, answered with OpenAI's error shape and an HTTP status.</summary>
/// <param name="status">400, 401, 404, …</param>
/// <param name="message">What is wrong and how to fix it.</param>
/// <param name="type">OpenAI's error type (invalid_request_error, server_error, …).</param>
/// <param name="param">The request field at fault, if any.</param>
/// <param name="code">OpenAI's error code (invalid_api_key, model_not_found, …), if any.</param>
public sealed class OpenAiError(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null)
    : Exception(message)
{
    /// <summary>HTTP status.</summary>
    public int Status { get; } = status;
    /// <summary>OpenAI's error type.</summary>
    public string Type { get; } = type;
    /// <summary>The request field at fault.</summary>
    public string? Param { get; } = param;
    /// <summary>OpenAI's error code.</summary>
    public string? Code { get; } = code;

    /// <summary>A 400 for a malformed or unsupported request.</summary>
    public static OpenAiError BadRequest(string message, string? param = null, string? code = null) => new(400, message, param: param, code: code);

    /// <summary><c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", Message);
        writer.WriteString("type", Type);
        if (Param is null) writer.WriteNull("param"); else writer.WriteString("param", Param);
        if (Code is null) writer.WriteNull("code"); else writer.WriteString("code", Code);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
