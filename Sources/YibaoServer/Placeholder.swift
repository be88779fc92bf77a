import YibaoStore
