using LlamaBoard.Cli;
using LlamaBoard.Tests.Engine.Configuration;

namespace LlamaBoard.Tests.Cli;

/// <summary>Runs <c>llamaboard</c> in-process with captured output.</summary>
internal static class CliTestKit
{
    public static (int Code, string Output, string Error) Run(CliServices services, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error, services);
        return (code, output.ToString(), error.ToString());
    }

    public static (int Code, string Output, string Error) Run(params string[] args) =>
        Run(new CliServices { Interrupts = new ManualInterrupts() }, args);

    /// <summary>The full path of a file in examples/.</summary>
    public static string Example(string relative) => Path.Combine(ConfigTestKit.RepositoryRoot(), "examples", relative);
}

/// <summary>Ctrl+C in tests: <see cref="Press"/> calls the subscribed handler, as the console would.</summary>
internal sealed class ManualInterrupts : IInterruptSource
{
    Func<bool>? handler;

    public int Subscriptions { get; private set; }

    public IDisposable Subscribe(Func<bool> onInterrupt)
    {
        handler = onInterrupt;
        Subscriptions++;
        return new Unsubscribe(this);
    }

    /// <summary>Presses Ctrl+C; returns whether the process would stay alive (false: it would end at once).</summary>
    public bool Press() => handler?.Invoke() ?? throw new InvalidOperationException("Nothing listens for Ctrl+C.");

    public bool Listening => handler is not null;

    sealed class Unsubscribe(ManualInterrupts owner) : IDisposable
    {
        public void Dispose() => owner.handler = null;
    }
}
