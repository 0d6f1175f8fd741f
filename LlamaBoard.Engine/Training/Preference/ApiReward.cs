using System.Net.Http.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Engine.Training.Preference;

/// <summary>
/// <c>reward_model_type: api</c>: rewards from a scoring server, as LLaMA-Factory asks one: the sequences are decoded
/// to text (special tokens kept) and posted as <c>{"model": "model", "messages": [text, …]}</c>; the answer is
/// <c>{"scores": [number, …]}</c>, one per text (LlamaBoard's own API serves this at /v1/score/evaluation).
/// </summary>
public sealed class ApiReward(string url, ITextTokenizer tokenizer, HttpClient? client = null) : IRewardSource, IDisposable
{
    readonly HttpClient http = client ?? new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
    readonly bool ownsClient = client is null;

    /// <inheritdoc />
    public float[] Score(IReadOnlyList<int[]> sequences)
    {
        var texts = sequences.Select(s => (JsonNode)tokenizer.Decode(s)).ToArray();
        var request = new JsonObject { ["model"] = "model", ["messages"] = new JsonArray(texts) };
        HttpResponseMessage response;
        try
        {
            response = http.PostAsJsonAsync(url, request).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            throw new InvalidOperationException($"reward_model {url}: the scoring server did not answer ({e.Message}); start it or check the address.", e);
        }
        using (response)
        {
            string body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"reward_model {url}: the scoring server answered {(int)response.StatusCode}: {Shorten(body)}");
            JsonArray? scores = null;
            try
            {
                scores = JsonNode.Parse(body)?["scores"] as JsonArray;
            }
            catch (System.Text.Json.JsonException)
            {
            }
            if (scores is null || scores.Count != sequences.Count)
                throw new InvalidOperationException(
                    $"reward_model {url}: expected {{\"scores\": [...]}} with {sequences.Count} numbers, got: {Shorten(body)}");
            return scores.Select(n => n is JsonValue v && v.TryGetValue(out double d) ? (float)d
                : throw new InvalidOperationException($"reward_model {url}: the score '{n}' is not a number.")).ToArray();
        }
    }

    static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsClient) http.Dispose();
    }
}
