LlamaBoard.Web.BoardHost.Run(args);
