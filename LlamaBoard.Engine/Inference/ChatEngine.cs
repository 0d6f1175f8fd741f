using System.Runtime.CompilerServices;
using System.Threading.Channels;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Engine.Inference;

/// <summary>
/// Chat over one <see cref="ModelHost"/> with a chat template: builds the prompt with LLaMA-Factory's template
/// semantics (system prompt, history, tool descriptions, function/observation turns, Qwen 3 thinking), generates
/// with the chosen adapter, and returns the answer with the thought apart and tool calls parsed. Replies can be
/// streamed as they are generated. Requests run one at a time per model (<see cref="ModelHost.Gate"/>), each on a
/// thread of its own, and can be cancelled at any token.
/// </summary>
public sealed class ChatEngine : IDisposable
{
    /// <summary>Creates the engine over a loaded host.</summary>
    /// <param name="host">The base model and its adapters (the engine owns it from now on).</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="template">The chat template, with default_system, tool_format and enable_thinking applied.</param>
    /// <param name="defaults">Decoding settings used where a request sets none.</param>
    /// <param name="skipSpecialTokens">Leave special tokens out of replies unless a request says otherwise.</param>
    /// <param name="defaultModel">What a request without a model name gets (an adapter's name, or the base's); null = the base.</param>
    public ChatEngine(ModelHost host, HfTokenizer tokenizer, ChatTemplate template, SamplingOptions defaults,
                      bool skipSpecialTokens = true, string? defaultModel = null)
    {
        Host = host;
        Tokenizer = tokenizer;
        Template = template;
        Defaults = defaults;
        SkipSpecialTokens = skipSpecialTokens;
        DefaultModel = defaultModel ?? host.Name;
        // Fails early, naming the missing token, when the template does not fit the tokenizer.
        _ = new TemplateTokenizer(new HfTextTokenizer(tokenizer), template);
    }

    /// <summary>The base model and its adapters.</summary>
    public ModelHost Host { get; }
    /// <summary>The model's tokenizer.</summary>
    public HfTokenizer Tokenizer { get; }
    /// <summary>The chat template.</summary>
    public ChatTemplate Template { get; }
    /// <summary>Decoding defaults.</summary>
    public SamplingOptions Defaults { get; }
    /// <summary>skip_special_tokens default.</summary>
    public bool SkipSpecialTokens { get; }
    /// <summary>The model name used when a request names none.</summary>
    public string DefaultModel { get; }
    /// <summary>Names a request may use: the base model's, then the adapters'.</summary>
    public IReadOnlyList<string> ModelNames => Host.ModelNames;

    /// <summary>Answers <paramref name="request"/> (waits for earlier requests on this model first).</summary>
    /// <exception cref="ChatRequestException">The request is malformed; nothing was generated.</exception>
    public async Task<ChatResponse> ChatAsync(ChatRequest request, CancellationToken cancellation = default) =>
        await RunAsync(request, null, cancellation).ConfigureAwait(false);

    /// <summary>
    /// Streams the reply to <paramref name="request"/>: thought and answer pieces as they are generated (text never
    /// breaks a character), then a last chunk carrying the finished <see cref="ChatResponse"/>. Stopping the
    /// enumeration cancels the generation at the next token. With tools, the answer is held until the end, when it
    /// is known whether it is a tool call.
    /// </summary>
    public async IAsyncEnumerable<ChatChunk> StreamAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var prepared = Prepare(request); // request errors surface before the first chunk
        var channel = Channel.CreateUnbounded<ChatChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var run = RunPreparedAsync(prepared, channel.Writer, stop.Token);
        _ = run.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        try
        {
            await foreach (var chunk in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                yield return chunk;
        }
        finally
        {
            // The consumer left early (or failed): stop generating and wait, so the model is free when we return.
            stop.Cancel();
            try { await run.ConfigureAwait(false); }
            catch (Exception) when (stop.IsCancellationRequested) { }
        }
    }

    /// <summary>
    /// Side-by-side comparison: the same request, seed included, through each of <paramref name="models"/> (null or
    /// the base name = no adapter), one after another on the shared base.
    /// </summary>
    public async Task<IReadOnlyList<ChatResponse>> CompareAsync(ChatRequest request, IReadOnlyList<string?> models,
                                                                CancellationToken cancellation = default)
    {
        var seeded = request.Seed is null && !(request.DoSample == false || request.Temperature == 0) && !Defaults.IsGreedy
            ? request with { Seed = Random.Shared.NextInt64() } : request;
        var replies = new List<ChatResponse>(models.Count);
        foreach (var model in models)
            replies.Add(await ChatAsync(seeded with { Model = model ?? Host.Name }, cancellation).ConfigureAwait(false));
        return replies;
    }

    sealed record Prepared(ChatRequest Request, string Model, List<int> PromptIds, TemplateTokenizer Tokenizer,
                           SamplingOptions Sampling, bool SkipSpecial, bool SplitThought, bool HasTools);

    async Task<ChatResponse> RunAsync(ChatRequest request, ChannelWriter<ChatChunk>? stream, CancellationToken cancellation) =>
        await RunPreparedAsync(Prepare(request), stream, cancellation).ConfigureAwait(false);

    async Task<ChatResponse> RunPreparedAsync(Prepared prepared, ChannelWriter<ChatChunk>? stream, CancellationToken cancellation)
    {
        await Host.Gate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            // Generation is synchronous libtorch work with per-thread state (dispose scopes, no_grad): one thread each.
            var response = await Task.Factory.StartNew(() => Generate(prepared, stream, cancellation), CancellationToken.None,
                                                       TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            stream?.TryWrite(new ChatChunk(ReplyPart.Answer, "", response));
            return response;
        }
        finally
        {
            Host.Gate.Release();
        }
    }

    Prepared Prepare(ChatRequest request)
    {
        var messages = request.Messages ?? throw new ChatRequestException("messages is required.", "messages");
        if (messages.Count == 0) throw new ChatRequestException("messages is empty; send at least one user message.", "messages");
        if (messages.Count % 2 == 0)
            throw new ChatRequestException(
                "the conversation must alternate user (or tool result) and assistant (or tool call) turns and end with a user or tool turn; " +
                $"it has {messages.Count} turns (an even number).", "messages");
        for (int i = 0; i < messages.Count; i++)
        {
            bool ok = i % 2 == 0 ? messages[i].Role is ChatRole.User or ChatRole.Observation
                                 : messages[i].Role is ChatRole.Assistant or ChatRole.Function;
            if (!ok)
                throw new ChatRequestException(
                    $"messages[{i}] has role {messages[i].RoleName}, but turn {i} must be " +
                    (i % 2 == 0 ? "user or tool (a tool result)" : "assistant (or an assistant tool call)") + ".", $"messages[{i}].role");
        }

        string model = request.Model ?? DefaultModel;
        if (model != Host.Name && Host.Find(model) is null)
            throw new ChatRequestException($"The model '{model}' does not exist; available: {string.Join(", ", ModelNames)}.", "model");

        var sampling = Defaults with
        {
            DoSample = request.DoSample ?? Defaults.DoSample,
            Temperature = request.Temperature ?? Defaults.Temperature,
            TopP = request.TopP ?? Defaults.TopP,
            TopK = request.TopK ?? Defaults.TopK,
            RepetitionPenalty = request.RepetitionPenalty ?? Defaults.RepetitionPenalty,
            MaxNewTokens = request.MaxNewTokens ?? Defaults.MaxNewTokens,
            Seed = request.Seed ?? Defaults.Seed,
        };
        try
        {
            sampling.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ChatRequestException(e.Message);
        }

        bool thinking = request.EnableThinking ?? Template.EnableThinking;
        var template = Template with { EnableThinking = thinking };
        var tokenizer = new TemplateTokenizer(new HfTextTokenizer(Tokenizer), template);
        bool hasTools = !string.IsNullOrWhiteSpace(request.Tools) && request.Tools.Trim() != "[]";
        List<int> promptIds;
        try
        {
            var turn = TemplateFormatter.FormatOneturn(template, [.. messages, new ChatMessage(ChatRole.Assistant, "")],
                                                       request.System, hasTools ? request.Tools : null);
            promptIds = tokenizer.Encode(turn.Prompt);
        }
        catch (FormatException e)
        {
            throw new ChatRequestException($"The request cannot be put into the {template.Name} template: {e.Message}.",
                                           e.Message.Contains("tool", StringComparison.OrdinalIgnoreCase) ? "tools" : "messages");
        }
        sampling = FitContext(sampling, promptIds.Count, request.MaxNewTokens is not null);
        return new Prepared(request, model, promptIds, tokenizer, sampling, request.SkipSpecialTokens ?? SkipSpecialTokens,
                            template.Kind == TemplateKind.Reasoning && thinking, hasTools);
    }

    /// <summary>
    /// Keeps prompt + new tokens within the model's context (max_position_embeddings): positions beyond it have no
    /// trained rotary angles, and a huge max_tokens would grow the KV cache until memory runs out. An explicit
    /// max_tokens that does not fit is refused with the numbers; the server's default is cut to what fits.
    /// </summary>
    SamplingOptions FitContext(SamplingOptions sampling, int promptTokens, bool requested)
    {
        int context = Host.Model.Config.MaxPositionEmbeddings;
        if (promptTokens >= context)
            throw new ChatRequestException(
                $"the prompt is {promptTokens} tokens, but the model's context holds {context}; shorten the conversation.", "messages");
        int room = context - promptTokens;
        if (sampling.MaxNewTokens <= room) return sampling;
        if (requested)
            throw new ChatRequestException(
                $"max_tokens {sampling.MaxNewTokens} does not fit: the prompt is {promptTokens} tokens and the model's context holds " +
                $"{context}, so at most {room} new tokens can follow it; lower max_tokens.", "max_tokens");
        return sampling with { MaxNewTokens = room };
    }

    ChatResponse Generate(Prepared p, ChannelWriter<ChatChunk>? stream, CancellationToken cancellation)
    {
        var detokenizer = Tokenizer.CreateStreamingDecoder(p.SkipSpecial);
        var stops = new StopStringMatcher(p.Request.Stop);
        var splitter = p.SplitThought ? ThoughtSplitter.For(Template.ThoughtWords) : null;
        var raw = new System.Text.StringBuilder();
        var thought = new System.Text.StringBuilder();
        var answer = new System.Text.StringBuilder();

        void Route(string text)
        {
            if (text.Length == 0) return;
            raw.Append(text);
            var pieces = splitter is null ? [(ReplyPart.Answer, text)] : splitter.Push(text);
            Emit(pieces);
        }
        void Emit(List<(ReplyPart Part, string Text)> pieces)
        {
            foreach (var (part, text) in pieces)
            {
                (part == ReplyPart.Thought ? thought : answer).Append(text);
                // With tools the answer may turn out to be a tool call: it is released only at the end.
                if (stream is not null && !(p.HasTools && part == ReplyPart.Answer))
                    stream.TryWrite(new ChatChunk(part, text));
            }
        }

        var generator = new TokenGenerator(Host.Model);
        var request = new GenerationRequest([p.PromptIds], p.Sampling, p.Tokenizer.StopTokenIds, p.Tokenizer.PadTokenId);
        GenerationResult result;
        using (Host.Activate(p.Model))
        {
            result = generator.Generate(request, step =>
            {
                int token = step.Tokens[0];
                if (token < 0) return true;
                Route(stops.Push(detokenizer.Add(token)));
                return !stops.Stopped;
            }, cancellation);
        }
        if (!stops.Stopped) Route(stops.Push(detokenizer.Flush()));
        Route(stops.Flush());
        if (splitter is not null) Emit(splitter.Flush());

        var sequence = result.Sequences[0];
        var reason = sequence.Reason;
        string answerText = answer.ToString();
        IReadOnlyList<ToolCall> calls = [];
        if (p.HasTools && ToolCallParser.Parse(Template.ToolFormat, answerText) is { Count: > 0 } parsed)
        {
            calls = parsed;
            answerText = "";
            if (reason == FinishReason.Stop) reason = FinishReason.ToolCalls;
        }
        else if (p.HasTools && stream is not null && answerText.Length > 0)
        {
            stream.TryWrite(new ChatChunk(ReplyPart.Answer, answerText));
        }
        // The stop token counts as generated when a stop token (not a stop string) ended the reply.
        int completion = sequence.Tokens.Count + (sequence.Reason == FinishReason.Stop && !stops.Stopped ? 1 : 0);
        return new ChatResponse(p.Model, answerText, p.SplitThought ? thought.ToString() : null, calls, raw.ToString(), reason,
                                p.PromptIds.Count, completion, result.TimeToFirstToken, result.TimeToFirstToken + result.DecodeTime);
    }

    /// <summary>Releases the model.</summary>
    public void Dispose() => Host.Dispose();
}
