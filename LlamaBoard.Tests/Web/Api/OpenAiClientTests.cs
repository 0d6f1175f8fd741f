#pragma warning disable OPENAI001 // ChatCompletionOptions.Seed is marked experimental by the OpenAI library
using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Tests.Engine.Inference;
using LlamaBoard.Web.Api;
using OpenAI;
using OpenAI.Chat;

namespace LlamaBoard.Tests.Web.Api;

/// <summary>The OpenAI-compatible API driven by the official OpenAI .NET client (and raw HTTP for malformed requests).</summary>
public sealed class OpenAiClientTests(ApiTestServer server) : IClassFixture<ApiTestServer>
{
    ChatClient Client(string model = "memorized", Uri? endpoint = null, string key = "unused") =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = endpoint ?? server.OpenUrl });

    static readonly ChatTool Weather = ChatTool.CreateFunctionTool("get_weather", "Current weather of a city", BinaryData.FromString(
        """{"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]}"""));

    [Fact]
    public void Models_lists_the_base_and_every_adapter()
    {
        var models = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = server.OpenUrl })
            .GetOpenAIModelClient().GetModels().Value;
        Assert.Equal(["memorized", "ada"], models.Select(m => m.Id));
    }

    [Fact]
    public void A_completion_returns_the_answer_finish_reason_and_usage()
    {
        var completion = Client().CompleteChat([new UserChatMessage("Say hello.")]).Value;
        Assert.Equal("Hello there! Goodbye now.", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("memorized", completion.Model);
        var (prompt, response) = MemorizedChatModel.Encode(
            new TemplateTokenizer(new HfTextTokenizer(server.Engine.Tokenizer), server.Engine.Template), MemorizedChatModel.Hello);
        Assert.Equal(prompt.Count, completion.Usage.InputTokenCount);
        Assert.Equal(response.Count, completion.Usage.OutputTokenCount); // the reply and its end-of-turn token
        Assert.Equal(prompt.Count + response.Count, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public void Streaming_sends_chunks_that_add_up_to_the_reply_then_the_finish_reason_and_usage()
    {
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        int updates = 0;
        foreach (var update in Client().CompleteChatStreaming([new UserChatMessage("Greet the world.")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        Assert.Equal("你好，世界！🌍 Привет, мир.", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.True(updates > 5, $"{updates} updates");
        if (usage is not null) Assert.True(usage.OutputTokenCount > 5);
    }

    [Fact]
    public void Stop_sequences_and_max_tokens_end_the_reply()
    {
        var options = new ChatCompletionOptions();
        options.StopSequences.Add("Goodbye");
        var stopped = Client().CompleteChat([new UserChatMessage("Say hello.")], options).Value;
        Assert.Equal("Hello there! ", stopped.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);

        var cut = Client().CompleteChat([new UserChatMessage("Say hello.")], new ChatCompletionOptions { MaxOutputTokenCount = 4 }).Value;
        Assert.Equal(ChatFinishReason.Length, cut.FinishReason);
        Assert.Equal(4, cut.Usage.OutputTokenCount);
    }

    [Fact]
    public void Tools_come_back_as_tool_calls_and_tool_results_continue_the_conversation()
    {
        var options = new ChatCompletionOptions { Tools = { Weather } };
        List<OpenAI.Chat.ChatMessage> messages = [new UserChatMessage("What is the weather in Paris?")];
        var call = Client().CompleteChat(messages, options).Value;
        Assert.Equal(ChatFinishReason.ToolCalls, call.FinishReason);
        var toolCall = Assert.Single(call.ToolCalls);
        Assert.Equal("get_weather", toolCall.FunctionName);
        Assert.Equal("Paris", JsonDocument.Parse(toolCall.FunctionArguments).RootElement.GetProperty("city").GetString());

        messages.Add(new AssistantChatMessage(call));
        messages.Add(new ToolChatMessage(toolCall.Id, """{"temperature": 21}"""));
        var answer = Client().CompleteChat(messages, options).Value;
        Assert.Equal("It is 21 degrees in Paris.", answer.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
    }

    [Fact]
    public void Streamed_tool_calls_arrive_as_tool_call_updates()
    {
        var options = new ChatCompletionOptions { Tools = { Weather } };
        string? name = null;
        var arguments = new StringBuilder();
        ChatFinishReason? finish = null;
        foreach (var update in Client().CompleteChatStreaming([new UserChatMessage("What is the weather in Paris?")], options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                name ??= call.FunctionName;
                arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal("get_weather", name);
        Assert.Equal("""{"city": "Paris"}""", arguments.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public void The_model_field_chooses_the_adapter_and_a_seed_makes_sampling_repeatable()
    {
        var greedyBase = Client().CompleteChat([new UserChatMessage("Say hello.")]).Value;
        var greedyAda = Client("ada").CompleteChat([new UserChatMessage("Say hello.")]).Value;
        Assert.Equal("ada", greedyAda.Model);
        Assert.NotEqual(greedyBase.Content[0].Text, greedyAda.Content[0].Text);

        string Sample(long seed) => string.Concat(Client().CompleteChat([new UserChatMessage("Tell me anything.")],
            new ChatCompletionOptions { Temperature = 2f, Seed = seed, MaxOutputTokenCount = 24 }).Value.Content.Select(c => c.Text));
        string first = Sample(7);
        Assert.Equal(first, Sample(7));
        Assert.Contains(new[] { 8L, 9L, 10L }, seed => Sample(seed) != first);
    }

    [Fact]
    public void Unknown_models_get_a_404_in_openai_shape()
    {
        var error = Assert.Throws<ClientResultException>(() => Client("gpt-4o").CompleteChat([new UserChatMessage("Hi")]));
        Assert.Equal(404, error.Status);
        Assert.Contains("gpt-4o", error.Message);
    }

    [Fact]
    public void Api_keys_are_required_when_set()
    {
        var denied = Assert.Throws<ClientResultException>(() => Client(endpoint: server.LockedUrl, key: "wrong").CompleteChat([new UserChatMessage("Say hello.")]));
        Assert.Equal(401, denied.Status);
        var allowed = Client(endpoint: server.LockedUrl, key: ApiTestServer.Key).CompleteChat([new UserChatMessage("Say hello.")]).Value;
        Assert.Equal("Hello there! Goodbye now.", allowed.Content[0].Text);
    }

    static async Task<(HttpStatusCode Status, JsonElement Body)> Post(Uri endpoint, string body, string? key = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint + "/chat/completions")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Theory]
    [InlineData("{not json", null)]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}]}""", "model")]
    [InlineData("""{"model": "memorized", "messages": []}""", "messages")]
    [InlineData("""{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}], "n": 2}""", "n")]
    [InlineData("""{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}], "temperature": 3}""", "temperature")]
    [InlineData("""{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Hi"}, {"role": "user", "content": "Hi"}]}""", "messages[1].role")]
    [InlineData("""{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hi"}]}""", "messages")]
    [InlineData("""{"model": "memorized", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "messages[0].content")]
    [InlineData("""{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function"}]}""", "tools[0]")]
    public async Task Malformed_requests_get_a_400_naming_the_field(string body, string? param)
    {
        var (status, json) = await Post(server.OpenUrl, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = json.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        if (param is null) Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        else Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_missing_key_gets_a_401_in_openai_shape()
    {
        var (status, json) = await Post(server.LockedUrl, """{"model": "memorized", "messages": [{"role": "user", "content": "Hi"}]}""");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_api_key", json.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public void Serving_beyond_loopback_without_a_key_is_refused()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ApiServer.Build(server.Engine, "0.0.0.0", 0, new OpenAiApiOptions()));
        Assert.Contains("API_KEY", error.Message);
        Assert.True(ApiServer.IsLoopback("127.0.0.1") && ApiServer.IsLoopback("::1") && ApiServer.IsLoopback("localhost"));
        Assert.False(ApiServer.IsLoopback("192.168.1.10"));
    }
}
