namespace LlamaBoard.Cli;

/// <summary>Where Ctrl+C comes from: the console in the real program, a button press in tests.</summary>
public interface IInterruptSource
{
    /// <summary>
    /// Calls <paramref name="onInterrupt"/> on each interrupt until disposed. The handler returns true to keep the
    /// process alive (the interrupt was handled) and false to let it end at once.
    /// </summary>
    IDisposable Subscribe(Func<bool> onInterrupt);
}

/// <summary>Ctrl+C (SIGINT) of the console.</summary>
public sealed class ConsoleInterrupts : IInterruptSource
{
    /// <inheritdoc/>
    public IDisposable Subscribe(Func<bool> onInterrupt)
    {
        ConsoleCancelEventHandler handler = (_, e) => e.Cancel = onInterrupt();
        Console.CancelKeyPress += handler;
        return new Unsubscriber(() => Console.CancelKeyPress -= handler);
    }

    sealed class Unsubscriber(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}

/// <summary>
/// Turns interrupts into a graceful stop: the first asks the run to stop after the current step (cancelling
/// <see cref="Token"/>); the second lets the process end at once.
/// </summary>
internal sealed class StopSignal(Action onFirstInterrupt) : IDisposable
{
    readonly CancellationTokenSource source = new();
    int interrupts;

    /// <summary>Cancelled at the first interrupt.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>Handles one interrupt; true keeps the process alive.</summary>
    public bool OnInterrupt()
    {
        if (Interlocked.Increment(ref interrupts) > 1) return false;
        onFirstInterrupt();
        source.Cancel();
        return true;
    }

    public void Dispose() => source.Dispose();
}
