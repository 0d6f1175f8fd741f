using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Inference;

namespace LlamaBoard.Web.Chat;

/// <summary>What one message is sent with: the Chat tab's settings at the moment of sending.</summary>
/// <param name="System">System prompt; empty uses the template's default.</param>
/// <param name="Tools">Tool definitions as a JSON array; empty for none.</param>
/// <param name="Generating">do_sample, temperature, top_p, top_k, repetition_penalty, max_new_tokens.</param>
/// <param name="Seed">The sampler's seed, the same in every pane.</param>
/// <param name="EnableThinking">Reasoning templates: think first; null lets the template decide.</param>
public sealed record ChatSettings(string? System, string? Tools, GeneratingOptions Generating, long Seed, bool? EnableThinking);

/// <summary>
/// The Chat tab's conversation in one browser tab (scoped per circuit): a pane per loaded target (base, then
/// adapters) and the side-by-side send. A message goes to every pane in turn with the same settings and seed; the
/// replies stream into the panes as the engine produces them, off the UI thread, and Stop cancels at the next token.
/// </summary>
public sealed class ChatSession(ChatModelService models) : IDisposable
{
    CancellationTokenSource? sending;
    LoadedChatModel? panesFor;

    /// <summary>One pane per target of the loaded model (empty when none is loaded).</summary>
    public IReadOnlyList<ChatPaneState> Panes { get; private set; } = [];

    /// <summary>True while a message is being answered.</summary>
    public bool IsSending => sending is not null;

    /// <summary>Raised for every streamed piece and state change, from the generating thread: coalesce before rendering.</summary>
    public event Action? Changed;

    /// <summary>Makes the panes match the loaded model (a new load starts new conversations).</summary>
    public void Sync()
    {
        if (ReferenceEquals(panesFor, models.Current)) return;
        panesFor = models.Current;
        Panes = panesFor?.Targets.Select(t => new ChatPaneState(t)).ToList() ?? [];
    }

    /// <summary>
    /// Sends <paramref name="message"/> to every pane, one after another on the shared base (the engine serves one
    /// generation at a time), each with its own history. Returns when every pane has answered, failed or been stopped.
    /// </summary>
    /// <exception cref="InvalidOperationException">No model is loaded, or a message is already being answered.</exception>
    public async Task SendAsync(string message, ChatSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Sync();
        if (panesFor is not { } loaded) throw new InvalidOperationException("Load a model first.");
        if (sending is not null) throw new InvalidOperationException("A message is already being answered; stop it or wait.");
        using var stop = new CancellationTokenSource();
        sending = stop;
        var exchanges = Panes.Select(p => (Pane: p, Exchange: new ChatExchange(message))).ToList();
        var histories = exchanges.Select(e => e.Pane.History(message)).ToList();
        foreach (var (pane, exchange) in exchanges) pane.Exchanges.Add(exchange);
        Changed?.Invoke();
        try
        {
            for (int i = 0; i < exchanges.Count; i++)
            {
                var (pane, exchange) = exchanges[i];
                if (stop.IsCancellationRequested)
                {
                    exchange.Stopped = true;
                    continue;
                }
                await AnswerAsync(loaded.Engine, Request(pane, histories[i], settings), exchange, stop.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            sending = null;
            Changed?.Invoke();
        }
    }

    async Task AnswerAsync(ChatEngine engine, ChatRequest request, ChatExchange exchange, CancellationToken stop)
    {
        exchange.Streaming = true;
        Changed?.Invoke();
        try
        {
            // The engine generates on a thread of its own; this loop only moves text into the pane.
            await foreach (var chunk in engine.StreamAsync(request, stop).ConfigureAwait(false))
            {
                if (chunk.Final is { } final)
                {
                    if (final.FinishReason == FinishReason.Cancelled) exchange.Stopped = true;
                    else exchange.Final = final;
                }
                else
                {
                    exchange.Add(chunk);
                }
                Changed?.Invoke();
            }
        }
        catch (OperationCanceledException)
        {
            exchange.Stopped = true;
        }
        catch (Exception e) when (e is ChatRequestException or ArgumentException or InvalidOperationException or ObjectDisposedException)
        {
            exchange.Error = e is ObjectDisposedException ? "The model was unloaded during the reply." : e.Message;
        }
        finally
        {
            exchange.Streaming = false;
        }
    }

    static ChatRequest Request(ChatPaneState pane, List<Engine.Data.ChatMessage> history, ChatSettings settings)
    {
        var g = settings.Generating;
        return new ChatRequest
        {
            Messages = history,
            Model = pane.Target.Name,
            System = string.IsNullOrWhiteSpace(settings.System) ? null : settings.System,
            Tools = string.IsNullOrWhiteSpace(settings.Tools) ? null : settings.Tools,
            DoSample = g.DoSample,
            Temperature = g.Temperature,
            TopP = g.TopP,
            TopK = g.TopK,
            RepetitionPenalty = g.RepetitionPenalty,
            MaxNewTokens = g.MaxNewTokens,
            Seed = settings.Seed,
            EnableThinking = settings.EnableThinking,
        };
    }

    /// <summary>Stops the reply being generated (at the next token) and the panes still waiting.</summary>
    public void Stop()
    {
        try
        {
            sending?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The send finished meanwhile.
        }
    }

    /// <summary>Clears every pane's conversation.</summary>
    public void Clear()
    {
        if (IsSending) return;
        foreach (var pane in Panes) pane.Exchanges.Clear();
        Changed?.Invoke();
    }

    /// <inheritdoc/>
    public void Dispose() => Stop();
}
