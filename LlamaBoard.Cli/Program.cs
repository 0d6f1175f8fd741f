namespace LlamaBoard.Cli;

internal static class Program
{
    static int Main(string[] args) => CliApp.Run(args, Console.Out, Console.Error);
}
